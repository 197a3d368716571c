"""The loop (issue 15): outcomes, reviewers' labels and feedback become training data, and
retraining runs behind the gates. ``select`` picks what reviewers label, ``review`` runs the
queue, ``sources`` builds training data with provenance, ``retrain`` trains and gates a
challenger, ``proof`` replays the loop on real data.

This package sits above ``models`` and ``monitoring`` and below ``cli``; serving imports only
``askwell.store.review`` (the queue's storage), never this package."""
