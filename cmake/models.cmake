# cmake/models.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_MODELS_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_MODELS_TEST_SOURCES into loom_tests. Paths are absolute (${PROJECT_SOURCE_DIR}).
set(LOOM_MODELS_SOURCES
  ${PROJECT_SOURCE_DIR}/layers/embedding.cc
  ${PROJECT_SOURCE_DIR}/layers/linear.cc
  ${PROJECT_SOURCE_DIR}/models/model_config.cc
  ${PROJECT_SOURCE_DIR}/models/classifier.cc
  ${PROJECT_SOURCE_DIR}/models/text_classifier.cc
  ${PROJECT_SOURCE_DIR}/models/factory.cc
  ${PROJECT_SOURCE_DIR}/models/bow.cc
  ${PROJECT_SOURCE_DIR}/models/fasttext.cc
  ${PROJECT_SOURCE_DIR}/models/cnn.cc
  ${PROJECT_SOURCE_DIR}/models/lstm.cc
  ${PROJECT_SOURCE_DIR}/models/bilstm.cc
  ${PROJECT_SOURCE_DIR}/models/cnn_lstm.cc
  ${PROJECT_SOURCE_DIR}/models/lstm_cnn.cc
  ${PROJECT_SOURCE_DIR}/models/hybrid.cc
  ${PROJECT_SOURCE_DIR}/models/meta_mlp.cc
  ${PROJECT_SOURCE_DIR}/models/user_cnn.cc
  ${PROJECT_SOURCE_DIR}/models/knn.cc
)
set(LOOM_MODELS_TEST_SOURCES
  ${PROJECT_SOURCE_DIR}/tests/models/test_models.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_models_grad.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_models_torch.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_models_autocast_torch.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_models_learning.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_hybrid.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_fasttext.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_meta_encoding.cc
  ${PROJECT_SOURCE_DIR}/tests/models/test_user_models.cc
)
