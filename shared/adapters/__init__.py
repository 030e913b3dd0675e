"""Adapters: the ports implemented over real technology (ARM, Event Grid, Table Storage, SQLite) and memory."""
