# src/nn: the six architectures
