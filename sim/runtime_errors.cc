// sim/runtime_errors.cc: cudaGetErrorName and cudaGetErrorString of the simulator's runtime.
//
// The names are every enumerator of cudaError in the toolkit's driver_types.h (listed here once, so
// a name printed in a report is the one a real run prints). The descriptions are the real
// runtime's for the errors the simulator itself returns or loom's code names; for the rest the
// description is the name, which is enough to look it up.
#include <cuda_runtime_api.h>

namespace {

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
