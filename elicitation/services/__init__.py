"""Writes of elicitation's data, by workflow: keyword-only, validated before they are saved.

- ``deliberations``: deliberations, scenarios, moral contexts and a study's interview task;
- ``cards``: values cards written by hand (a researcher's, a participant's edit), approved, merged;
- ``interviews``: starting an interview, a participant's message, the interviewer's turn;
- ``card_drafts``: the card the model writes from an interview, or revises on request;
- ``turn``: what a turn yields and stores, shared by the last two.
"""
