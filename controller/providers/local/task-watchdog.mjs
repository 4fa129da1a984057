// Preloaded into every local task (`node --import`): the local cloud holds the other end of the
// task's stdin, so when the local cloud's process ends, however it ends, stdin closes and the task
// shuts down as it would on SIGTERM. No task outlives the local cloud that started it.
import process from 'node:process';

process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
process.stdin.unref();
