# src/nn: model files and training
