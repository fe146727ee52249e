"""Electronic seals (电子印章): the registry, the log of every seal use (用印记录), and the
sealed records (the PDF of each finished case, sealed off the request path)."""
