"""The ingest pipeline, between capture and storage: preparing a batch (validated, priced,
turned into rows and rollup deltas: ``prepare``) and the group-commit writer that hands batches
to ``store.write`` in one transaction each group (``writer``, in a thread or in a process of its
own: ``writer_process``). It builds on ``pricing`` and ``store``; neither imports it."""
