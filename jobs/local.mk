# SLURM job templates, installed under $(pkgdatadir)/jobs
jobsdir = $(pkgdatadir)/jobs
dist_jobs_DATA = jobs/demo.sbatch jobs/io_scaling.sbatch jobs/learn.sbatch
dist_jobs_DATA += jobs/train.sbatch
