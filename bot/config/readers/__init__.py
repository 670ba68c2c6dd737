"""One reader per section of the configuration file, each built on `bot.config.validation`."""
