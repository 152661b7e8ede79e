"""The HTTP edge both HTTP faces share (the JSON API and the dashboard): who is calling,
problem answers, body limits and security headers, paging cursors, the request context and
where a request finds the runtime. Neither face imports the other; both import this."""
