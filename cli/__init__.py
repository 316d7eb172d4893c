"""The command line: ``ridership`` (cli/main.py). Options for training settings are generated from
engine.config.TrainConfig (cli/options.py); runs commands are in cli/runs.py."""
