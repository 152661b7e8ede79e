"""Operations over a wired runtime, above the capabilities and their wiring: exporting,
verifying and replaying for an audit, checking the views against a rebuild, and the board
replays the dashboard serves. They take the runtime :mod:`services.bootstrap` builds."""
