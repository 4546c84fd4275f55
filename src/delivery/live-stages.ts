import type { DeliveryStage } from './stage.js';

/**
 * The delivery stages one worker pool runs in this process, by pipeline and destination: the destination status
 * reads their pacing and retry budget. The pool adds each stage it starts and removes it when it stops.
 */
export class LiveDeliveryStages {
  private readonly stages = new Map<string, DeliveryStage>();

  add(stage: DeliveryStage): void {
    this.stages.set(key(stage.pipeline.name, stage.destination.name), stage);
  }

  delete(stage: DeliveryStage): void {
    const k = key(stage.pipeline.name, stage.destination.name);
    if (this.stages.get(k) === stage) this.stages.delete(k);
  }

  find(pipeline: string, destination: string): DeliveryStage | undefined {
    return this.stages.get(key(pipeline, destination));
  }
}

const key = (pipeline: string, destination: string) => `${pipeline}\u0000${destination}`;
