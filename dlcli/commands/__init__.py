"""One module per subcommand. Each stays thin and imports TensorFlow only when it runs."""
