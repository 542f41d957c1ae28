# cmake/models.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_MODELS_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_MODELS_TEST_SOURCES into loom_tests. Paths are absolute (${LOOM_ROOT}, the
# repository root: CMakeLists.txt and fuzz/CMakeLists.txt both set it).
set(LOOM_MODELS_SOURCES
  ${LOOM_ROOT}/layers/embedding.cc
  ${LOOM_ROOT}/layers/linear.cc
  ${LOOM_ROOT}/models/model_config.cc
  ${LOOM_ROOT}/models/classifier.cc
  ${LOOM_ROOT}/models/text_classifier.cc
  ${LOOM_ROOT}/models/factory.cc
  ${LOOM_ROOT}/models/bow.cc
  ${LOOM_ROOT}/models/fasttext.cc
  ${LOOM_ROOT}/models/cnn.cc
  ${LOOM_ROOT}/models/lstm.cc
  ${LOOM_ROOT}/models/bilstm.cc
  ${LOOM_ROOT}/models/cnn_lstm.cc
  ${LOOM_ROOT}/models/lstm_cnn.cc
  ${LOOM_ROOT}/models/hybrid.cc
  ${LOOM_ROOT}/models/meta_mlp.cc
  ${LOOM_ROOT}/models/user_cnn.cc
  ${LOOM_ROOT}/models/knn.cc
)
set(LOOM_MODELS_TEST_SOURCES
  ${LOOM_ROOT}/tests/models/test_models.cc
  ${LOOM_ROOT}/tests/models/test_models_grad.cc
  ${LOOM_ROOT}/tests/models/test_models_torch.cc
  ${LOOM_ROOT}/tests/models/test_models_autocast_torch.cc
  ${LOOM_ROOT}/tests/models/test_models_learning.cc
  ${LOOM_ROOT}/tests/models/test_hybrid.cc
  ${LOOM_ROOT}/tests/models/test_fasttext.cc
  ${LOOM_ROOT}/tests/models/test_meta_encoding.cc
  ${LOOM_ROOT}/tests/models/test_user_models.cc
)
