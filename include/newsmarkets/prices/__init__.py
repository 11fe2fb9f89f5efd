"""Market prices: provider clients, pure transforms, and the batch functions DAGs call."""
