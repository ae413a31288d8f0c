"""The game of Go: rules (`board`), game records (`sgf`, `gamesdata`), the course's input planes
(`features`) and training sets (`dataset`). Pure domain code: no printing, no command line."""
