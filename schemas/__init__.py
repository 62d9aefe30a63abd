"""pandera models: the data contracts between the pipeline's steps."""
