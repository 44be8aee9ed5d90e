# src/cli: the hypercsc program
hypercsc_SOURCES += src/cli/main.c src/cli/cli.c src/cli/cli.h \
	src/cli/cmd_info.c src/cli/cmd_convert.c src/cli/cmd_synth.c \
	src/cli/cmd_noise.c src/cli/cmd_eval.c \
	src/cli/cmd_pca.c \
	src/cli/cmd_dict.c src/cli/cmd_code.c \
	src/cli/mosaic.c src/cli/cmd_learn.c
hypercsc_SOURCES += src/cli/cmd_train.c
hypercsc_SOURCES += src/cli/cmd_restore.c src/cli/restore_common.c src/cli/restore_common.h
