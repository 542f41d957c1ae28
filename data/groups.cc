// data/groups.cc: (being written)
