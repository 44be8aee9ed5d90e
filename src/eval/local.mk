# src/eval
