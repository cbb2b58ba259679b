"""The live common operational picture: a web map per nation.

`app` is the FastAPI server, `protocol` the WebSocket messages (sans-I/O),
`deltas` the picture-to-delta step, `sources` the frames it serves (a finished
run folder, or a scenario run live), `views` what each nation's session may
see, `auth` the operators' accounts and sessions, `session` one signed-in
browser's playback. The front end is plain ES modules under `static/`.
"""
