// models/knn.cc: (being written)
