export declare const H5_DIR: string
export declare const MINIAPP: string
export declare const REPO: string
export declare function startBackend(opts: { logFile: string }): Promise<{ baseUrl: string; stop: () => Promise<void> }>
