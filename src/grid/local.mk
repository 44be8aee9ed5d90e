# src/grid
