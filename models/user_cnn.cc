// models/user_cnn.cc: (being written)
