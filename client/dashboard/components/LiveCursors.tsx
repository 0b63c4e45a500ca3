/**
 * A room's live cursors in a small canvas, so an operator sees collaboration work. Fed by the
 * operator's firehose (`useEvent` with scope 'all'), not by `onRoom`: watching a room must not
 * make the operator one of its members. Folded with the hooks' own `reduceCursors`; positions
 * are scaled into the canvas by the largest coordinates seen, since each app has its own units.
 */
import { useEffect, useRef, useState } from 'react';
import { reduceCursors, useEvent, type MemberCursor } from '../../react/index.js';

const width = 280;
const height = 160;
/** A member is dropped after this long without a move (as useCursors does). */
const staleAfterMs = 30_000;

function colourOf(userId: string): string {
  let hash = 0;
  for (const character of userId) hash = (hash * 31 + character.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360} 70% 50%)`;
}

function draw(canvas: HTMLCanvasElement, cursors: ReadonlyMap<string, MemberCursor>): void {
  const context = canvas.getContext('2d');
  if (!context) return;
  context.clearRect(0, 0, width, height);
  const points = [...cursors.values()].flatMap((member) => (member.cursor ? [{ member, cursor: member.cursor }] : []));
  const maxX = Math.max(1, ...points.map(({ cursor }) => cursor.x));
  const maxY = Math.max(1, ...points.map(({ cursor }) => cursor.y));
  context.font = '11px sans-serif';
  for (const { member, cursor } of points) {
    const x = 6 + (Math.max(0, cursor.x) / maxX) * (width - 60);
    const y = 6 + (Math.max(0, cursor.y) / maxY) * (height - 18);
    context.fillStyle = colourOf(member.userId);
    context.beginPath();
    context.arc(x, y, 4, 0, 2 * Math.PI);
    context.fill();
    context.fillText(member.userId, x + 6, y + 4);
  }
}

export function LiveCursors({ roomId }: { roomId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [cursors, setCursors] = useState<ReadonlyMap<string, MemberCursor>>(new Map());
  useEvent(
    ['cursor.moved', 'selection.changed', 'room.left', 'user.idle', 'user.presence'],
    (event) => {
      if ((event.type === 'cursor.moved' || event.type === 'selection.changed' || event.type === 'room.left') && event.roomId !== roomId) return;
      setCursors((state) => reduceCursors(state, event, undefined));
    },
    { scope: 'all' },
  );
  useEffect(() => {
    if (canvas.current) draw(canvas.current, cursors);
  }, [cursors]);
  useEffect(() => {
    const sweep = setInterval(() => {
      const now = Date.now();
      setCursors((state) => {
        const fresh = [...state].filter(([, member]) => now - member.updatedAt.getTime() < staleAfterMs);
        return fresh.length === state.size ? state : new Map(fresh);
      });
    }, 1_000);
    return () => clearInterval(sweep);
  }, []);
  const selections = [...cursors.values()].filter((member) => member.selection);
  return (
    <div className="live-cursors" data-testid={`live-cursors-${roomId}`}>
      <canvas ref={canvas} width={width} height={height} aria-label={`Live cursors in ${roomId}`} />
      <div className="muted">
        {cursors.size === 0
          ? 'No cursors moving.'
          : selections.map((member) => `${member.userId}: ${member.selection!.target} ${member.selection!.start}–${member.selection!.end}`).join(' · ') ||
            `${cursors.size} cursor${cursors.size === 1 ? '' : 's'}`}
      </div>
    </div>
  );
}
