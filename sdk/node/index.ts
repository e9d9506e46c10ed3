export { Signalboard, type SignalboardOptions, type Identity, type MessageFields, type TrackMessage, type PageMessage, type IdentifyMessage } from './signalboard.js';
export { DeliveryError, type DeliveryFailure } from '../shared/delivery-error.js';
export type { Properties, WireEvent } from '../shared/event.js';
