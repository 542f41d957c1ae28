// sim/include/cuda_runtime.h: the stand-in a SIM translation unit finds first on its include path.
// It is the real toolkit header (host mode: types, the runtime API's declarations, which
// sim/runtime.cc implements) followed by the device language nvcc would have added (sim/device.h).
#pragma once

#include_next <cuda_runtime.h>

#include "sim/device.h"
