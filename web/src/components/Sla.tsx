import type { ReviewCase } from '../api';
import { slaLevel } from '../sla';
import { duration } from './ui';

/** The countdown on a queue row and a case page: the time left (or since the breach), coloured by its level. */
export function SlaCountdown({ c, now }: { c: ReviewCase; now: number }) {
  const level = slaLevel(c, now);
  if (level === 'none') return <span className="sla none">no SLA</span>;
  if (level === 'paused') return <span className="sla paused">paused (waiting for information)</span>;
  const left = Date.parse(c.sla.due_at as string) - now;
  const text = left <= 0 ? `breached ${duration(-left)} ago` : `${duration(left)} left`;
  return (
    <span className={`sla ${level}`} data-sla={level} title={`due ${new Date(c.sla.due_at as string).toLocaleString()}`}>
      {level === 'red' ? '● ' : level === 'amber' ? '▲ ' : ''}
      {text}
    </span>
  );
}
