"""The functional core: plain data in, plain data out. No I/O imports here."""
