// data/metadata.cc: (being written)
