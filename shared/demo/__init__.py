"""The bundled demo (``modelwatch demo``): real lifecycle history replayed through the whole pipeline, offline.
``run.py`` runs it (``run_demo``: the settings, the steps, the deliveries, the canaries, the final reports);
``timeline.py`` reads the story (``shared/data/timeline.json``) and the catalog it implies on a date;
``simulated.py`` is the Azure it runs against (ARM's catalog and deployments, Azure's own upgrades, a data plane);
``outputs.py`` writes alerts and events to files instead of posting them; ``story.py`` tells each step on the
console. CLI only: the function app never imports it."""
