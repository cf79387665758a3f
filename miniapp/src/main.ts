import { createSSRApp } from 'vue'
import * as Pinia from 'pinia'
import App from './App.vue'

export function createApp() {
  const app = createSSRApp(App)
  app.use(Pinia.createPinia())
  // uni-app's mp runtime needs the same Pinia module instance the app uses
  return { app, Pinia }
}
