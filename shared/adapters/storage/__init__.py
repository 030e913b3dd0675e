"""What the Azure Storage adapters (Table Storage, Queue Storage) and their local twins share: error translation
(``errors.py``), legal table keys (``keys.py``), the JSON form of stored records (``records.py``), and the storage
queues (``queue.py``: the refresh's parts, canary asks, handed-off deliveries)."""
