"""The steps of one poll cycle, each a small module of functions of a ``Cycle`` (context.py).

In the order ``chalicelib.pipeline.Pipeline.run_cycle`` runs them:
schedule (due tasks) -> fetch (parallel, under the budget) -> health (failures, answered,
silence, owner notices) -> match (owned networks too) and store (``jobs.open_jobs``) -> fetch.advance (cursors)
-> jobs.resume_stale -> spikes -> jobs.alert (screen -> bundle -> send) -> snoozes ->
retries. Every send goes through ``chalicelib.alerts.delivery`` (claim -> send -> record).
"""
