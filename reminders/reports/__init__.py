"""Reports over an account's data without HTTP: the message log and its CSV and Excel downloads."""
