import { classifyAnswer } from './modelslab.client.js';

describe('classifyAnswer (provider answers by class, for the metrics)', () => {
  it.each([
    [200, { status: 'success', output: ['x'] }, 'success'],
    [200, { status: 'processing', id: 1 }, 'processing'],
    [200, { status: 'failed', id: 1 }, 'failed'],
    [200, { status: 'error', message: 'bad' }, 'error'],
    [200, { status: 'error', message: 'slow down', retry_after: 3 }, '429'],
    [429, { status: 'error' }, '429'],
    [400, { status: 'error' }, '4xx'],
    [402, {}, '4xx'],
    [500, {}, '5xx'],
    [503, { unparsed: '<html>' }, '5xx'],
    [200, { unparsed: 'nope' }, 'invalid'],
    [302, {}, 'invalid'],
  ])('HTTP %i %j is %s', (status, body, cls) => {
    expect(classifyAnswer(status, body)).toBe(cls);
  });
});
