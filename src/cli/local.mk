# src/cli: the hypercsc program
hypercsc_SOURCES += src/cli/main.c
