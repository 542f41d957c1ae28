# cmake/train.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_TRAIN_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_TRAIN_TEST_SOURCES into loom_tests. Paths are absolute (${PROJECT_SOURCE_DIR}).
set(LOOM_TRAIN_SOURCES
  ${PROJECT_SOURCE_DIR}/train/checkpoint.cc
  ${PROJECT_SOURCE_DIR}/train/early_stopping.cc
  ${PROJECT_SOURCE_DIR}/train/evaluate.cc
  ${PROJECT_SOURCE_DIR}/train/grad_scaler.cc
  ${PROJECT_SOURCE_DIR}/train/metrics_log.cc
  ${PROJECT_SOURCE_DIR}/train/objective.cc
  ${PROJECT_SOURCE_DIR}/train/options.cc
  ${PROJECT_SOURCE_DIR}/train/plot.cc
  ${PROJECT_SOURCE_DIR}/train/progress.cc
  ${PROJECT_SOURCE_DIR}/train/runtime.cc
  ${PROJECT_SOURCE_DIR}/train/schedule.cc
  ${PROJECT_SOURCE_DIR}/train/text_data.cc
  ${PROJECT_SOURCE_DIR}/train/trainer.cc
  ${PROJECT_SOURCE_DIR}/train/user_level.cc
  ${PROJECT_SOURCE_DIR}/train/user_vectors.cc
  ${PROJECT_SOURCE_DIR}/train/cross_validation.cc
  ${PROJECT_SOURCE_DIR}/train/bot_run.cc
  ${PROJECT_SOURCE_DIR}/train/run_setup.cc
  ${PROJECT_SOURCE_DIR}/tools/cli.cc
  ${PROJECT_SOURCE_DIR}/tools/eval.cc
  ${PROJECT_SOURCE_DIR}/tools/predict.cc
  ${PROJECT_SOURCE_DIR}/tools/synth.cc
  ${PROJECT_SOURCE_DIR}/tools/train.cc
  ${PROJECT_SOURCE_DIR}/tools/trace.cc
  ${PROJECT_SOURCE_DIR}/tools/compare.cc
  ${PROJECT_SOURCE_DIR}/tools/user_error.cc
  ${PROJECT_SOURCE_DIR}/train/trace.cc
  ${PROJECT_SOURCE_DIR}/train/trace_kernels.cc
  ${PROJECT_SOURCE_DIR}/train/compare.cc
  ${PROJECT_SOURCE_DIR}/train/ensemble.cc
  ${PROJECT_SOURCE_DIR}/train/recipe.cc
  ${PROJECT_SOURCE_DIR}/tools/ensemble.cc
  ${PROJECT_SOURCE_DIR}/train/word2vec.cc
  ${PROJECT_SOURCE_DIR}/tools/embed.cc
)
set(LOOM_TRAIN_TEST_SOURCES
  ${PROJECT_SOURCE_DIR}/tests/train/test_cli.cc
  ${PROJECT_SOURCE_DIR}/tests/tools/test_predict_stream.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_grad_scaler.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_learning_real.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_mixed_precision.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_resume.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_schedule.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_tasks.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_bots.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_user_level.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_trace.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_trace_kernels.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_compare.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_user_error.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_nonfinite.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_checkpoint_commit.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_ensemble.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_recipe.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_multi_input.cc
  ${PROJECT_SOURCE_DIR}/tests/train/test_word2vec.cc
)

# The subcommands parse flags with CLI11 inside loom_tools (so the tests run the same parser as the
# binary); CLI11 may live in third_party_headers/ on machines without the Debian package.
set_source_files_properties(
  ${PROJECT_SOURCE_DIR}/tools/cli.cc ${PROJECT_SOURCE_DIR}/tools/eval.cc ${PROJECT_SOURCE_DIR}/tools/predict.cc
  ${PROJECT_SOURCE_DIR}/tools/synth.cc ${PROJECT_SOURCE_DIR}/tools/train.cc
  ${PROJECT_SOURCE_DIR}/tools/trace.cc ${PROJECT_SOURCE_DIR}/tools/compare.cc
  ${PROJECT_SOURCE_DIR}/tools/ensemble.cc
  ${PROJECT_SOURCE_DIR}/tools/embed.cc
  PROPERTIES INCLUDE_DIRECTORIES "${CLI11_INCLUDE_DIR}")

# config.json and `loom --version` record the source version: the git commit of the tree that was
# built (with "-dirty" for local changes), regenerated on every build by cmake/source_version.cmake.
set(LOOM_SOURCE_VERSION_CC ${CMAKE_BINARY_DIR}/generated/source_version.cc)
set(_version_script ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DOUT=${LOOM_SOURCE_VERSION_CC}
                    -P ${PROJECT_SOURCE_DIR}/cmake/source_version.cmake)
execute_process(COMMAND ${_version_script})  # so the file exists before the first build
add_custom_target(loom_source_version COMMAND ${_version_script} BYPRODUCTS ${LOOM_SOURCE_VERSION_CC} VERBATIM)
list(APPEND LOOM_TRAIN_SOURCES ${LOOM_SOURCE_VERSION_CC})
