"""Command line interface: one module per subcommand, each turning files into library calls."""
