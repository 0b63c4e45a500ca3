// @vitest-environment jsdom
/** The dashboard's rooms panel shows a failed rooms query (refused, unreachable) as an error, not as "No open rooms". */
import { cleanup, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomsPanel } from '../../client/dashboard/components/RoomsPanel.js';

afterEach(() => cleanup());

describe('RoomsPanel', () => {
  it('shows the error instead of an empty list', () => {
    const view = render(<RoomsPanel rooms={[]} presenceByUser={new Map()} error={{ message: 'Requires role admin' }} />);
    expect(view.getByTestId('rooms-error').textContent).toBe('Rooms unavailable: Requires role admin');
    expect(view.queryByText('No open rooms.')).toBeNull();
  });

  it('shows an empty list as empty when nothing failed', () => {
    const view = render(<RoomsPanel rooms={[]} presenceByUser={new Map()} error={null} />);
    expect(view.getByText('No open rooms.')).toBeTruthy();
    expect(view.queryByTestId('rooms-error')).toBeNull();
  });
});
