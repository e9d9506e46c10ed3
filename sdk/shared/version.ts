/** The SDKs' version, sent as context.library.version with every event. */
export const SDK_VERSION = '0.1.0';
