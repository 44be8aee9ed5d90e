# tests: nnarch
