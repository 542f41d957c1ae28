// core/grad_mode.h: how a backward kernel writes a gradient.
//
// Every kernel that writes a gradient takes a GradMode. Overwrite: dst = value (the first writer
// of a fresh gradient buffer). Accumulate: dst += value (parameter gradients that sum over
// micro-batches, and any tensor used twice in one graph). This replaces a run of bare bools.
#pragma once

namespace loom {

enum class GradMode { Overwrite, Accumulate };

}  // namespace loom
