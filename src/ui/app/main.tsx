// The dashboard's entry: its styles (uPlot's and ours, bundled into one hashed stylesheet) and the app.
import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { render } from 'preact'
import { App } from './App.js'

render(<App />, document.getElementById('app')!)
