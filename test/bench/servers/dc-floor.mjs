// The floor of allocations.mjs: `node --import ./dc-floor.mjs hello.mjs` subscribes an empty function
// to the diagnostics channel mon's HTTP metrics listen on. Node builds the channel's message object
// for every request once anyone subscribes, so this is what the hook costs before mon does anything:
// what mon allocates above it is mon's own.
import dc from 'node:diagnostics_channel';

dc.subscribe('http.server.request.start', () => {});
