"""What a family of commands shares, kept apart from the command modules so that each command
reads like the course's exercise (load, build, fit, evaluate, plot). None of these is a command.

- `dense`: classify, regress, kfold (presets, options, preparing tables, images and word sequences).
- `images`: cnn, resnet, mobilenet (training options, fit and evaluate, the figures, model size).
- `sequences`: textgen, timeseries (comma-separated options, --limit on files, textgen's samples.md).
- `generative`: autoencode, vae (their datasets, noise, the arrays kept beside the models).
"""
