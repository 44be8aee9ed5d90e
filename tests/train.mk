# tests: train
