// sim/runtime.cc: the CUDA runtime entry points loom calls, implemented on host memory.
//
// The functions are defined against the toolkit's own <cuda_runtime_api.h>, so a signature that
// drifts from the real one fails to compile, and the SIM build links no libcudart.
//
// Semantics, as the runtime documents them:
// - Streams are in order, and the simulator runs each piece of work when it is issued (a kernel
//   at its launch, a copy at cudaMemcpyAsync), so every stream is always idle and every
//   synchronizing call only reports errors. Events record the host clock at cudaEventRecord,
//   which is when all earlier work has finished.
// - Errors: a failing call returns its error and also leaves it as the "last error", which
//   cudaGetLastError() returns once and resets (cudaPeekAtLastError() does not reset). A fault a
//   check found inside a kernel (checks.cc, report_fault) is sticky, as a real device fault is:
//   cudaGetLastError(), the synchronizing calls, copies and memsets return it until
//   cudaDeviceReset(). Unlike the real reset, the simulator's keeps allocations alive (loom's
//   caching allocator still holds them), so a test that provoked a fault can reset and go on.
// - Copies and memsets mark the bytes they write as written (initcheck); a device-to-device copy
//   carries the source's written-ness over byte by byte, so copying an unwritten buffer does not
//   launder it. A pointer the call says is device memory must be a live allocation holding the
//   whole range, else cudaErrorInvalidValue.
// - One device. LOOM_SIM_GPU picks its properties: H100 (default), A100 or H200.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "sim/memory.h"
#include "sim/state.h"

// The runtime's opaque handle types, completed here: a stream has nothing to hold (work runs when
// issued); an event holds the time it was recorded.
struct CUstream_st {
  unsigned flags = 0;
};
struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point when;
};

namespace loom::sim {

// checks.cc defines the real one; this stand-in lets the runtime link without it.
__attribute__((weak)) int take_sticky_fault() { return 0; }

namespace {

struct RuntimeState {
  cudaError_t last = cudaSuccess;    // non-sticky: returned once by cudaGetLastError
  cudaError_t sticky = cudaSuccess;  // a fault inside a kernel: stays until cudaDeviceReset
  int device = 0;
  std::set<cudaStream_t> streams;
  std::set<cudaEvent_t> events;
  int max_dynamic_shared_optin = 0;  // the last cudaFuncSetAttribute value (kept for reports)
};

RuntimeState& state() {
  static RuntimeState s;
  return s;
}

cudaError_t fail(cudaError_t e) {
  state().last = e;
  return e;
}

// Picks up a fault recorded since the last look; returns the sticky error (cudaSuccess if none).
cudaError_t poll_sticky() {
  RuntimeState& s = state();
  const int fault = take_sticky_fault();
  if (fault != 0 && s.sticky == cudaSuccess) s.sticky = static_cast<cudaError_t>(fault);
  return s.sticky;
}

bool valid_stream(cudaStream_t s) {
  return s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread || state().streams.count(s) != 0;
}

// ---- device models --------------------------------------------------------------------------------

constexpr std::size_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;

cudaDeviceProp make_properties() {
  const char* env = std::getenv("LOOM_SIM_GPU");
  const std::string gpu = env && *env ? env : "H100";
  cudaDeviceProp p{};
  // Shared by the three models (sm_80 and sm_90 agree on these).
  p.warpSize = 32;
  p.maxThreadsPerBlock = 1024;
  p.maxThreadsDim[0] = 1024;
  p.maxThreadsDim[1] = 1024;
  p.maxThreadsDim[2] = 64;
  p.maxGridSize[0] = 2147483647;
  p.maxGridSize[1] = 65535;
  p.maxGridSize[2] = 65535;
  p.regsPerBlock = 65536;
  p.regsPerMultiprocessor = 65536;
  p.maxThreadsPerMultiProcessor = 2048;
  p.maxBlocksPerMultiProcessor = 32;
  p.sharedMemPerBlock = 48 * KiB;
  p.reservedSharedMemPerBlock = 1 * KiB;
  p.totalConstMem = 64 * KiB;
  p.memPitch = 2147483647;
  p.textureAlignment = 512;
  p.texturePitchAlignment = 32;
  p.concurrentKernels = 1;
  p.asyncEngineCount = 2;
  p.unifiedAddressing = 1;
  p.managedMemory = 1;
  p.canMapHostMemory = 1;
  p.streamPrioritiesSupported = 1;
  p.globalL1CacheSupported = 1;
  p.localL1CacheSupported = 1;
  p.cooperativeLaunch = 1;
  p.computePreemptionSupported = 1;
  p.memoryPoolsSupported = 1;
  p.ECCEnabled = 1;
  if (gpu == "A100") {
    std::snprintf(p.name, sizeof p.name, "NVIDIA A100-SXM4-80GB (loom SIM)");
    p.major = 8;
    p.minor = 0;
    p.multiProcessorCount = 108;
    p.sharedMemPerMultiprocessor = 164 * KiB;
    p.sharedMemPerBlockOptin = 163 * KiB;
    p.l2CacheSize = static_cast<int>(40 * MiB);
    p.totalGlobalMem = 80 * GiB;
    p.memoryBusWidth = 5120;
  } else {
    const bool h200 = gpu == "H200";
    std::snprintf(p.name, sizeof p.name, "%s", h200 ? "NVIDIA H200 (loom SIM)" : "NVIDIA H100 80GB HBM3 (loom SIM)");
    p.major = 9;
    p.minor = 0;
    p.multiProcessorCount = 132;
    p.sharedMemPerMultiprocessor = 228 * KiB;
    p.sharedMemPerBlockOptin = 227 * KiB;
    p.l2CacheSize = static_cast<int>(50 * MiB);
    p.totalGlobalMem = (h200 ? 141 : 80) * GiB;
    p.memoryBusWidth = h200 ? 6144 : 5120;
    p.clusterLaunch = 1;
  }
  p.persistingL2CacheMaxSize = p.l2CacheSize * 3 / 4;
  return p;
}

const cudaDeviceProp& properties() {
  static const cudaDeviceProp p = make_properties();
  return p;
}

// ---- copies -------------------------------------------------------------------------------------------

// What a pointer of a copy is, given what the caller said it is. A pointer inside any allocation
// (live, freed, or its redzone) must be a live range; one the caller calls device memory must be
// inside an allocation.
bool check_side(const void* p, std::size_t bytes, bool said_device) {
  if (find_allocation(p) != nullptr) return find_live(p, bytes) != nullptr;
  return !said_device;
}

bool kind_sides(cudaMemcpyKind kind, bool* dst_device, bool* src_device) {
  switch (kind) {
    case cudaMemcpyHostToHost: *dst_device = false; *src_device = false; return true;
    case cudaMemcpyHostToDevice: *dst_device = true; *src_device = false; return true;
    case cudaMemcpyDeviceToHost: *dst_device = false; *src_device = true; return true;
    case cudaMemcpyDeviceToDevice: *dst_device = true; *src_device = true; return true;
    case cudaMemcpyDefault: *dst_device = false; *src_device = false; return true;  // inferred per pointer
  }
  return false;
}

// Copies `bytes` and keeps the written shadow right: a device source passes its shadow on, a host
// source counts as written.
void copy_bytes(void* dst, const void* src, std::size_t bytes) {
  std::memmove(dst, src, bytes);
  if (find_allocation(dst) == nullptr) return;
  if (find_allocation(src) != nullptr) {
    copy_written(dst, src, bytes);
  } else {
    mark_written(dst, bytes);
  }
}

// Checks and performs a 2-D copy (a 1-D copy is height 1). Returns the error to report.
cudaError_t copy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                    std::size_t height, cudaMemcpyKind kind) {
  if (width == 0 || height == 0) return cudaSuccess;
  bool dst_device = false, src_device = false;
  if (!kind_sides(kind, &dst_device, &src_device)) return cudaErrorInvalidMemcpyDirection;
  if (height > 1 && (width > dpitch || width > spitch)) return cudaErrorInvalidPitchValue;
  if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
  const std::size_t dspan = (height - 1) * dpitch + width, sspan = (height - 1) * spitch + width;
  if (!check_side(dst, dspan, dst_device) || !check_side(src, sspan, src_device)) return cudaErrorInvalidValue;
  const cudaError_t sticky = poll_sticky();
  if (sticky != cudaSuccess) return sticky;  // a faulted device runs no more work
  for (std::size_t r = 0; r < height; ++r) {
    copy_bytes(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  }
  return cudaSuccess;
}

cudaError_t set_2d(void* dst, std::size_t pitch, int value, std::size_t width, std::size_t height) {
  if (width == 0 || height == 0) return cudaSuccess;
  if (height > 1 && width > pitch) return cudaErrorInvalidPitchValue;
  if (find_live(dst, (height - 1) * pitch + width) == nullptr) return cudaErrorInvalidValue;
  const cudaError_t sticky = poll_sticky();
  if (sticky != cudaSuccess) return sticky;
  for (std::size_t r = 0; r < height; ++r) {
    char* row = static_cast<char*>(dst) + r * pitch;
    std::memset(row, value, width);
    mark_written(row, width);
  }
  return cudaSuccess;
}

cudaError_t result(cudaError_t e) { return e == cudaSuccess ? e : fail(e); }

}  // namespace

void set_last_error(int cuda_error) { state().last = static_cast<cudaError_t>(cuda_error); }

}  // namespace loom::sim

using loom::sim::fail;
using loom::sim::poll_sticky;
using loom::sim::result;
using loom::sim::state;
using loom::sim::valid_stream;

// ---- errors -------------------------------------------------------------------------------------------

cudaError_t cudaGetLastError() {
  const cudaError_t sticky = poll_sticky();
  if (sticky != cudaSuccess) return sticky;
  const cudaError_t e = state().last;
  state().last = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  const cudaError_t sticky = poll_sticky();
  return sticky != cudaSuccess ? sticky : state().last;
}

// ---- device -------------------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  state().device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = state().device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *prop = loom::sim::properties();
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (value == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  const cudaDeviceProp& p = loom::sim::properties();
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrWarpSize: *value = p.warpSize; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(p.sharedMemPerBlock); return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(p.sharedMemPerBlockOptin); return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
      *value = static_cast<int>(p.sharedMemPerMultiprocessor);
      return cudaSuccess;
    case cudaDevAttrL2CacheSize: *value = p.l2CacheSize; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = p.maxThreadsPerMultiProcessor; return cudaSuccess;
    default: return fail(cudaErrorInvalidValue);
  }
}

cudaError_t cudaDeviceSynchronize() { return result(poll_sticky()); }

cudaError_t cudaDeviceReset() {
  (void)loom::sim::take_sticky_fault();
  state().sticky = cudaSuccess;
  state().last = cudaSuccess;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return fail(cudaErrorInvalidValue);
  *version = CUDART_VERSION;  // a driver exactly as new as the runtime
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return fail(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return fail(cudaErrorInvalidValue);
  const std::size_t total = loom::sim::properties().totalGlobalMem, used = loom::sim::device_bytes_in_use();
  *total_bytes = total;
  *free_bytes = used < total ? total - used : 0;
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (func == nullptr) return fail(cudaErrorInvalidDeviceFunction);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    const cudaDeviceProp& p = loom::sim::properties();
    if (value < 0 || static_cast<std::size_t>(value) > p.sharedMemPerBlockOptin) return fail(cudaErrorInvalidValue);
    state().max_dynamic_shared_optin = value;
    return cudaSuccess;
  }
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout) {
    return (value >= -1 && value <= 100) ? cudaSuccess : fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;  // other attributes are hints the simulator has no use for
}

// ---- memory -------------------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, size_t size) {
  if (ptr == nullptr) return fail(cudaErrorInvalidValue);
  if (size == 0) {  // as the real runtime: success, and no allocation
    *ptr = nullptr;
    return cudaSuccess;
  }
  std::size_t free_bytes = 0, total = 0;
  (void)cudaMemGetInfo(&free_bytes, &total);
  void* p = size <= free_bytes ? loom::sim::device_alloc(size) : nullptr;
  if (p == nullptr) {
    *ptr = nullptr;
    return fail(cudaErrorMemoryAllocation);
  }
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  switch (loom::sim::device_free(ptr)) {
    case loom::sim::DeviceFree::ok: return cudaSuccess;
    case loom::sim::DeviceFree::not_allocated:
    case loom::sim::DeviceFree::double_free: break;
  }
  return fail(cudaErrorInvalidValue);
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return result(loom::sim::copy_2d(dst, count, src, count, count, 1, kind));
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return result(loom::sim::copy_2d(dst, count, src, count, count, 1, kind));
}

cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return result(loom::sim::copy_2d(dst, dpitch, src, spitch, width, height, kind));
}

cudaError_t cudaMemset(void* dst, int value, size_t count) {
  return result(loom::sim::set_2d(dst, count, value, count, 1));
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t count, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return result(loom::sim::set_2d(dst, count, value, count, 1));
}

cudaError_t cudaMemset2DAsync(void* dst, size_t pitch, int value, size_t width, size_t height, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return result(loom::sim::set_2d(dst, pitch, value, width, height));
}

// ---- streams ------------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (stream == nullptr || (flags & ~static_cast<unsigned>(cudaStreamNonBlocking)) != 0)
    return fail(cudaErrorInvalidValue);
  *stream = new CUstream_st{flags};
  state().streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (state().streams.erase(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return result(poll_sticky());
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return result(poll_sticky());  // work ran when issued: the stream is always idle
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  if (!valid_stream(stream) || state().events.count(event) == 0) return fail(cudaErrorInvalidResourceHandle);
  (void)flags;
  return cudaSuccess;  // the event's work has already run
}

// ---- events -------------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  const unsigned known = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
  if (event == nullptr || (flags & ~known) != 0) return fail(cudaErrorInvalidValue);
  *event = new CUevent_st{flags, false, {}};
  state().events.insert(*event);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (state().events.erase(event) == 0) return fail(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (state().events.count(event) == 0 || !valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  event->recorded = true;
  event->when = std::chrono::steady_clock::now();
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (state().events.count(event) == 0) return fail(cudaErrorInvalidResourceHandle);
  return result(poll_sticky());
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (state().events.count(event) == 0) return fail(cudaErrorInvalidResourceHandle);
  return result(poll_sticky());
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr) return fail(cudaErrorInvalidValue);
  auto& events = state().events;
  if (events.count(start) == 0 || events.count(end) == 0) return fail(cudaErrorInvalidResourceHandle);
  // As documented: an event never recorded, or created without timing, has no time to give.
  if (!start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle);
  if (((start->flags | end->flags) & cudaEventDisableTiming) != 0) return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}

// ---- error names --------------------------------------------------------------------------------------
//
// The descriptions are the real runtime's for the errors the simulator itself returns or loom's
// code names; for the rest the description is the name, which is enough to look it up.

namespace {

// Every enumerator of cudaError in the toolkit's driver_types.h, so a name printed in a report is the
// one a real run prints.

// clang-format off
#define LOOM_SIM_CUDA_ERRORS(X) \
  X(cudaSuccess) X(cudaErrorInvalidValue) X(cudaErrorMemoryAllocation) X(cudaErrorInitializationError) \
  X(cudaErrorCudartUnloading) X(cudaErrorProfilerDisabled) X(cudaErrorProfilerNotInitialized) \
  X(cudaErrorProfilerAlreadyStarted) X(cudaErrorProfilerAlreadyStopped) X(cudaErrorInvalidConfiguration) \
  X(cudaErrorInvalidPitchValue) X(cudaErrorInvalidSymbol) X(cudaErrorInvalidHostPointer) \
  X(cudaErrorInvalidDevicePointer) X(cudaErrorInvalidTexture) X(cudaErrorInvalidTextureBinding) \
  X(cudaErrorInvalidChannelDescriptor) X(cudaErrorInvalidMemcpyDirection) X(cudaErrorAddressOfConstant) \
  X(cudaErrorTextureFetchFailed) X(cudaErrorTextureNotBound) X(cudaErrorSynchronizationError) \
  X(cudaErrorInvalidFilterSetting) X(cudaErrorInvalidNormSetting) X(cudaErrorMixedDeviceExecution) \
  X(cudaErrorNotYetImplemented) X(cudaErrorMemoryValueTooLarge) X(cudaErrorStubLibrary) \
  X(cudaErrorInsufficientDriver) X(cudaErrorCallRequiresNewerDriver) X(cudaErrorInvalidSurface) \
  X(cudaErrorDuplicateVariableName) X(cudaErrorDuplicateTextureName) X(cudaErrorDuplicateSurfaceName) \
  X(cudaErrorDevicesUnavailable) X(cudaErrorIncompatibleDriverContext) X(cudaErrorMissingConfiguration) \
  X(cudaErrorPriorLaunchFailure) X(cudaErrorLaunchMaxDepthExceeded) X(cudaErrorLaunchFileScopedTex) \
  X(cudaErrorLaunchFileScopedSurf) X(cudaErrorSyncDepthExceeded) X(cudaErrorLaunchPendingCountExceeded) \
  X(cudaErrorInvalidDeviceFunction) X(cudaErrorNoDevice) X(cudaErrorInvalidDevice) \
  X(cudaErrorDeviceNotLicensed) X(cudaErrorSoftwareValidityNotEstablished) X(cudaErrorStartupFailure) \
  X(cudaErrorInvalidKernelImage) X(cudaErrorDeviceUninitialized) X(cudaErrorMapBufferObjectFailed) \
  X(cudaErrorUnmapBufferObjectFailed) X(cudaErrorArrayIsMapped) X(cudaErrorAlreadyMapped) \
  X(cudaErrorNoKernelImageForDevice) X(cudaErrorAlreadyAcquired) X(cudaErrorNotMapped) \
  X(cudaErrorNotMappedAsArray) X(cudaErrorNotMappedAsPointer) X(cudaErrorECCUncorrectable) \
  X(cudaErrorUnsupportedLimit) X(cudaErrorDeviceAlreadyInUse) X(cudaErrorPeerAccessUnsupported) \
  X(cudaErrorInvalidPtx) X(cudaErrorInvalidGraphicsContext) X(cudaErrorNvlinkUncorrectable) \
  X(cudaErrorJitCompilerNotFound) X(cudaErrorUnsupportedPtxVersion) X(cudaErrorJitCompilationDisabled) \
  X(cudaErrorUnsupportedExecAffinity) X(cudaErrorUnsupportedDevSideSync) X(cudaErrorContained) \
  X(cudaErrorInvalidSource) X(cudaErrorFileNotFound) X(cudaErrorSharedObjectSymbolNotFound) \
  X(cudaErrorSharedObjectInitFailed) X(cudaErrorOperatingSystem) X(cudaErrorInvalidResourceHandle) \
  X(cudaErrorIllegalState) X(cudaErrorLossyQuery) X(cudaErrorSymbolNotFound) X(cudaErrorNotReady) \
  X(cudaErrorIllegalAddress) X(cudaErrorLaunchOutOfResources) X(cudaErrorLaunchTimeout) \
  X(cudaErrorLaunchIncompatibleTexturing) X(cudaErrorPeerAccessAlreadyEnabled) X(cudaErrorPeerAccessNotEnabled) \
  X(cudaErrorSetOnActiveProcess) X(cudaErrorContextIsDestroyed) X(cudaErrorAssert) X(cudaErrorTooManyPeers) \
  X(cudaErrorHostMemoryAlreadyRegistered) X(cudaErrorHostMemoryNotRegistered) X(cudaErrorHardwareStackError) \
  X(cudaErrorIllegalInstruction) X(cudaErrorMisalignedAddress) X(cudaErrorInvalidAddressSpace) \
  X(cudaErrorInvalidPc) X(cudaErrorLaunchFailure) X(cudaErrorCooperativeLaunchTooLarge) \
  X(cudaErrorTensorMemoryLeak) X(cudaErrorNotPermitted) X(cudaErrorNotSupported) X(cudaErrorSystemNotReady) \
  X(cudaErrorSystemDriverMismatch) X(cudaErrorCompatNotSupportedOnDevice) X(cudaErrorMpsConnectionFailed) \
  X(cudaErrorMpsRpcFailure) X(cudaErrorMpsServerNotReady) X(cudaErrorMpsMaxClientsReached) \
  X(cudaErrorMpsMaxConnectionsReached) X(cudaErrorMpsClientTerminated) X(cudaErrorCdpNotSupported) \
  X(cudaErrorCdpVersionMismatch) X(cudaErrorStreamCaptureUnsupported) X(cudaErrorStreamCaptureInvalidated) \
  X(cudaErrorStreamCaptureMerge) X(cudaErrorStreamCaptureUnmatched) X(cudaErrorStreamCaptureUnjoined) \
  X(cudaErrorStreamCaptureIsolation) X(cudaErrorStreamCaptureImplicit) X(cudaErrorCapturedEvent) \
  X(cudaErrorStreamCaptureWrongThread) X(cudaErrorTimeout) X(cudaErrorGraphExecUpdateFailure) \
  X(cudaErrorExternalDevice) X(cudaErrorInvalidClusterSize) X(cudaErrorFunctionNotLoaded) \
  X(cudaErrorInvalidResourceType) X(cudaErrorInvalidResourceConfiguration) X(cudaErrorUnknown)
// clang-format on

}  // namespace

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define X(name) \
  case name:    \
    return #name;
    LOOM_SIM_CUDA_ERRORS(X)
#undef X
    default: break;
  }
  return "unrecognized error code";  // what the real runtime answers for a value outside the enum
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorCudartUnloading: return "driver shutting down";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorUnknown: return "unknown error";
    default: break;
  }
  const char* name = cudaGetErrorName(error);
  return name;
}
