# SLURM job templates
